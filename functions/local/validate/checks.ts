/** Every check of `switchyard validate`, in suite order (connectivity, stability, exceptions, billing). */
import { BILLING_CHECKS } from './suites/billing.ts';
import { CONNECTIVITY_CHECKS } from './suites/connectivity.ts';
import { EXCEPTION_CHECKS } from './suites/exceptions.ts';
import { OTHER_API_CHECKS } from './suites/other-apis.ts';
import { STABILITY_CHECKS } from './suites/stability.ts';
import type { Check } from './types.ts';

export const ALL_CHECKS: readonly Check[] = [
  ...CONNECTIVITY_CHECKS,
  ...OTHER_API_CHECKS,
  ...STABILITY_CHECKS,
  ...EXCEPTION_CHECKS,
  ...BILLING_CHECKS,
];
