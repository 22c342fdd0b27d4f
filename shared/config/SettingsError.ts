/**
 * Settings that cannot be used, every problem named at once, each by its setting. In a file of
 * its own so that settings.ts and the settings files it composes import it without importing
 * each other.
 */
export class SettingsError extends Error {
  readonly code = 'SETTINGS_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid settings: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}
