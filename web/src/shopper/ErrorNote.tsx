// A failed action's message, shown (and announced) in the section where the shopper acted.
import type { Section, SectionError } from './shopper-model';

export function ErrorNote({ error, section }: { error: SectionError | null; section: Section }) {
  return error?.section === section ? (
    <p role="alert" className="error" data-testid="error">
      {error.text}
    </p>
  ) : null;
}
