import { app } from '@azure/functions';
import { loadSettings } from '../shared/config/settings';

/**
 * Settings are validated once when the app starts: a missing or invalid setting stops start-up
 * with a message that names it, instead of failing every invocation later.
 */
app.hook.appStart(() => {
  loadSettings(process.env);
});
