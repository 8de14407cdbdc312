/**
 * MongoDB reports a unique-index violation with code 11000. Detect it by the code
 * alone: FerretDB and older servers omit `keyPattern`/`keyValue`.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, writeErrors } = error as { code?: unknown; writeErrors?: unknown };
  if (code === 11000) return true;
  return Array.isArray(writeErrors) && writeErrors.some((writeError) => isDuplicateKeyError(writeError));
}
