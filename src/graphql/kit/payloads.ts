// Shapes a service Outcome into a mutation payload: { <field>: value | null, userErrors }.
import type { Outcome, UserError } from '../../common/user-errors';

export function payload<K extends string, T>(field: K, outcome: Outcome<T>): { [P in K]: T | null } & { userErrors: UserError[] } {
  return (outcome.ok ? { [field]: outcome.value, userErrors: [] } : { [field]: null, userErrors: outcome.errors }) as {
    [P in K]: T | null;
  } & { userErrors: UserError[] };
}
