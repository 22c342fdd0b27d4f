import { app } from '@azure/functions';

/**
 * HTTP responses leave the worker as they are written, not gathered first: the device list and
 * the audit trail by range (functions/reports.ts) and the archived reports
 * (functions/pointInTimeReports.ts) stream a fleet's worth of rows, which must never sit in the
 * worker's memory. Needs the Functions host 4.28 or later (Flex Consumption has it); the call
 * must run while the app starts, from any file the package's `main` loads.
 */
app.setup({ enableHttpStream: true });
