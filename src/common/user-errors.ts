// Expected failures of a mutation, returned in its payload's userErrors with a stable code.
export interface UserError {
  field: string[] | null;
  code: string;
  message: string;
}

/**
 * Only the modules that own a closed set of codes call this (each domain's `*-errors.ts`, text,
 * quotas, images), through a helper that takes only their codes; src/http/error-codes.ts maps them all.
 */
export function userError(code: string, message: string, field?: string[]): UserError {
  return { code, message, field: field ?? null };
}

/** A mutation's result: the value on success, or the reasons it was refused. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; errors: UserError[] };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const refuse = <T = never>(...errors: UserError[]): Outcome<T> => ({ ok: false, errors });

/** True when a Prisma error is a unique-constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
