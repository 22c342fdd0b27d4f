import { InMemoryLedger } from '../support/memoryPorts';
import { certificateLedgerContract } from './certificateLedgerContract';

// The same contract runs against TableCertificateLedger in CertificateLedger.azurite.test.ts.
certificateLedgerContract('InMemoryLedger', () => new InMemoryLedger(), { atomicIndex: false });
