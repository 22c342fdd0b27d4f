import { PemNotInspected } from '../../../shared/domain/applyLedgerEvent';
import {
  CERTIFICATE_PEM,
  aCertificate,
  aParsedCertificate,
  apply,
  appliedRecord,
  created,
  deleted,
  given,
  inspected,
  patch,
  AT,
} from '../../support/ledgerEvents';

describe('a report whose PEM was not inspected', () => {
  it('is refused, not recorded from its typed-in fields', () => {
    expect(() => apply(undefined, patch(1, aCertificate({ pem: CERTIFICATE_PEM })))).toThrow(
      PemNotInspected,
    );
  });

  it('is refused in a new life whose versions start again below the old one’s', () => {
    const before = given(
      created(),
      patch(7, aCertificate({ pem: CERTIFICATE_PEM }), { pem: inspected(aParsedCertificate()) }),
      deleted(AT.deleted),
      created(AT.recreated),
    );

    expect(() =>
      apply(
        before,
        patch(2, aCertificate({ pem: CERTIFICATE_PEM }), { occurredAt: AT.afterRecreation }),
      ),
    ).toThrow(PemNotInspected);
  });

  it('is no obstacle to a redelivery, which the ledger decides without the PEM', () => {
    const report = patch(1, aCertificate({ pem: CERTIFICATE_PEM }), {
      pem: inspected(aParsedCertificate()),
    });
    const before = given(report);
    const { pem: _pem, ...redelivered } = report;

    expect(apply(before, redelivered).outcome).toBe('duplicate');
  });

  it('is recorded with what its inspection proved once it has one', () => {
    const leaf = aParsedCertificate();

    const record = appliedRecord(
      apply(undefined, patch(1, aCertificate({ pem: CERTIFICATE_PEM }), { pem: inspected(leaf) })),
    );

    expect(record.current).toMatchObject({
      source: 'pem',
      thumbprintSha256: leaf.thumbprintSha256,
    });
  });
});
