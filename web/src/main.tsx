// The web app's entry: the shopper page at /, the retailer's catalog page at /catalog
// (the server answers index.html for both).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ShopperPage } from './shopper/ShopperPage';
import { CatalogPage } from './catalog/CatalogPage';
import './styles.css';

const isCatalog = location.pathname.replace(/\/+$/, '') === '/catalog';
document.title = isCatalog ? 'Atelier catalog' : 'Atelier try-on';

createRoot(document.getElementById('root')!).render(<StrictMode>{isCatalog ? <CatalogPage /> : <ShopperPage />}</StrictMode>);
