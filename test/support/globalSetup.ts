import { startAzurite } from '../../shared/local/azurite';

/**
 * One real Azurite for the whole jest run, on free loopback ports. Test files isolate
 * themselves with their own storage prefix (see testStorage.ts).
 */
export default async function globalSetup(): Promise<void> {
  const azurite = await startAzurite();
  process.env.CERTFLEET_TEST_STORAGE = azurite.connectionString;
  (globalThis as { __azurite?: typeof azurite }).__azurite = azurite;
}
