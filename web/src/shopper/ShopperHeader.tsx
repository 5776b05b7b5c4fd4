// The shopper page's header: the title, the link to the catalog page and, on the demo store, what it is.
export function ShopperHeader({ demo = false }: { demo?: boolean }) {
  return (
    <header className="header">
      <h1>
        Atelier <span>try-on</span>
      </h1>
      <nav aria-label="Pages">
        <a href="/catalog">Catalog (retailers)</a>
      </nav>
      {demo && <p className="demo-note">Demo store: sample garments and photos, made up by the engine's tiny model.</p>}
    </header>
  );
}
