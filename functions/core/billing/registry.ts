/** `billing.type` → billing adapter (one each, functions/core/billing/adapters/). */
import type { BillingType } from '../config/presets.ts';
import { anthropicCostReportBilling } from './adapters/anthropic-cost-report.ts';
import { deepseekBilling } from './adapters/deepseek.ts';
import { noneBilling } from './adapters/none.ts';
import { oneapiBilling } from './adapters/oneapi.ts';
import { openaiCostsBilling } from './adapters/openai-costs.ts';
import { openrouterBilling } from './adapters/openrouter.ts';
import { siliconflowBilling } from './adapters/siliconflow.ts';
import type { BillingAdapter } from './types.ts';

export const BILLING_ADAPTERS: Readonly<Record<BillingType, BillingAdapter>> = {
  'openai-costs': openaiCostsBilling,
  'anthropic-cost-report': anthropicCostReportBilling,
  openrouter: openrouterBilling,
  oneapi: oneapiBilling,
  siliconflow: siliconflowBilling,
  deepseek: deepseekBilling,
  none: noneBilling,
};
