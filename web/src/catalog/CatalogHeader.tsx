// The catalog page's header: the title and the link to the shopper page, with what the page adds.
import type { ReactNode } from 'react';

export function CatalogHeader({ children }: { children?: ReactNode }) {
  return (
    <header className="header">
      <h1>
        Atelier <span>catalog</span>
      </h1>
      <nav aria-label="Pages">
        <a href="/">Shopper try-on</a>
      </nav>
      {children}
    </header>
  );
}
