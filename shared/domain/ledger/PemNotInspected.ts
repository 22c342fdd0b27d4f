// The ledger's refusal to record a certificate from a PEM nobody parsed: "not inspected" must
// never pass for "inspected and fine".

/**
 * A report carried a PEM, and the event reached the ledger without its inspection. The caller
 * (the ingest use case) inspects every PEM the ledger may apply; reaching this is a bug, so it is
 * thrown, never turned into a certificate taken from the typed-in fields.
 */
export class PemNotInspected extends Error {
  constructor(hub: string, deviceId: string, reportedVersion: number | undefined) {
    super(
      `the certificate report of ${hub}/${deviceId} at reported $version ${String(reportedVersion)} ` +
        'carries a PEM that was not inspected; it is not recorded',
    );
    this.name = 'PemNotInspected';
  }
}
