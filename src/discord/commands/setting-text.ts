import { SETTING_KEYS, type SettingKey, type SettingValue } from '../../settings/keys.js';

/**
 * A setting's value as moderators read it: booleans as on/off, channels as mentions, lists joined with commas, and
 * an empty list or text as "(all channels)" or "(none)". Here, not in settings/, because the words and the channel
 * mentions are Discord's side of a setting.
 */
export function formatValue(key: SettingKey, value: SettingValue): string {
  switch (SETTING_KEYS[key].input) {
    case 'boolean':
      return value === true ? 'on' : 'off';
    case 'channels':
      return formatList(value, (id) => `<#${id}>`, '(all channels)');
    case 'words':
      return formatList(value, (word) => word, '(none)');
    case 'text':
      return value === '' ? '(none)' : String(value);
    default:
      return String(value);
  }
}

function formatList(value: SettingValue, item: (entry: string) => string, empty: string): string {
  if (!Array.isArray(value)) return String(value);
  return value.length === 0 ? empty : value.map(item).join(', ');
}
