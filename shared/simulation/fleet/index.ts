/**
 * The simulated fleet: devices with real keys and certificates, a stand-in DPS, and a run that
 * drives certfleet's real handlers, sweeps and storage in virtual time.
 */
export { runSimulatedFleet } from './FleetRun';
export type { FleetRunOptions, FleetRunResult } from './FleetRun';
export { describeSummary } from './FleetSummary';
export type { ExpiryExplanation, FleetSummary, RenewalPath } from './FleetSummary';
export { defaultFleetOptions, planProfiles } from './FleetOptions';
export type { FleetMix, FleetOptions } from './FleetOptions';
export type { DeviceKind, DeviceProfile } from './DeviceProfile';
export { SimulatedFleet } from './SimulatedFleet';
export { SimulatedDevice } from './SimulatedDevice';
export { StandInDps } from './StandInDps';
export type { DpsRegistrationResult, IssuancePolicy } from './StandInDps';
export { VirtualTime } from './VirtualTime';
