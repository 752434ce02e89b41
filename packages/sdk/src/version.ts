/**
 * The version of `@gatehouse/sdk`, sent on every request as `x-gatehouse-sdk: js/<version>`.
 * A test keeps it equal to the `version` in `package.json`.
 */
export const VERSION = '0.1.0';
