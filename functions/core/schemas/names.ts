/**
 * Names the gateway echoes (in an error, a log line, the ledger) are bounded before anything else happens: a
 * 5 MiB model name once made 10 MiB of log per request and a spool line replay could not load. Its own module,
 * free of zod, so code bundled apart from the schemas (the Bedrock transport) can use the bound.
 */
export const MAX_NAME_LENGTH = 256;
