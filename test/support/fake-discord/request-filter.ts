/** Which requests a fault or a hold applies to. */
export interface RequestFilter {
  /** Only requests with this method (any, when left out). */
  readonly method?: string;
  /** Requests whose decoded path (e.g. `/api/v10/channels/1/messages`, `/cdn/…`) contains this string or matches this pattern. */
  readonly path: string | RegExp;
}

/** Whether a request with `method` and decoded `path` passes `filter`. */
export function passesFilter(filter: RequestFilter, method: string, path: string): boolean {
  if (filter.method !== undefined && filter.method.toUpperCase() !== method) return false;
  return typeof filter.path === 'string' ? path.includes(filter.path) : filter.path.test(path);
}
