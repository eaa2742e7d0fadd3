// What a scenario's censor rules may name: lab sites and lab addresses only,
// and the error a bad rule raises. Its own module so that the censor's parts
// (censor.ts, censor-signatures.ts) share it without importing each other.
import { isLabAddress, siteByName } from './addresses.js';

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** A site name or a lab IP, as an IP. Nothing outside the lab is ever a target. */
export function targetIp(target: unknown, where: string): string {
  if (typeof target !== 'string') throw new ScenarioError(`${where}: target ${JSON.stringify(target)} is not a string`);
  if (isLabAddress(target)) return target;
  const site = siteByName(target);
  if (!site) throw new ScenarioError(`${where}: ${JSON.stringify(target)} is neither a lab site nor a lab address`);
  return site.ip;
}
