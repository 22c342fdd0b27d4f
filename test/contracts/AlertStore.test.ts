import { InMemoryAlertStore } from '../support/InMemoryAlertStore';
import { alertStoreContract } from './alertStoreContract';

// The same contract runs against TableAlertStore in AlertStore.azurite.test.ts.
alertStoreContract('InMemoryAlertStore', () => new InMemoryAlertStore());
