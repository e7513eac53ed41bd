// LoRA and textual-inversion files as people share them, read for the pipeline.
export { isNetworkError, NetworkError, type NetworkErrorCode } from './errors.js';
export { embeddingHashes, readEmbedding, readEmbeddingFolder, type EmbeddingFolder, type LoadedEmbedding } from './embeddings.js';
export { listLoras, LoraLibrary, loraPatch, readLora, type LoadedLora, type LoraListing } from './lora.js';
