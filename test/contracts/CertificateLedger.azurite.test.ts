import { TableCertificateLedger } from '../../shared/adapters/storage/TableCertificateLedger';
import { freshPrefix, tableClient } from '../support/rawStorage';
import { certificateLedgerContract } from './certificateLedgerContract';

// The same contract runs against InMemoryLedger in CertificateLedger.test.ts.
certificateLedgerContract(
  'TableCertificateLedger on Azurite',
  () => {
    const prefix = freshPrefix();
    return new TableCertificateLedger(tableClient(`${prefix}ledger`));
  },
  { atomicIndex: true },
);
