// "Add garments": drop or choose product images, check each one's name, SKU and category, upload them.
import { useState, type DragEvent } from 'react';
import type { GarmentCategory } from '../generated/graphql';
import { CATEGORIES, CATEGORY_LABEL } from '../common/labels';
import type { Draft } from './catalog-model';
import type { Drafts } from './use-drafts';

function DraftItem({ draft: d, updateDraft, removeDraft }: { draft: Draft } & Pick<Drafts, 'updateDraft' | 'removeDraft'>) {
  return (
    <li className="draft">
      <img src={d.previewUrl} alt={`New garment image ${d.file.name}`} width={72} height={96} />
      <div className="fields">
        <label>
          Name <input value={d.name} onChange={(e) => updateDraft(d.id, { name: e.target.value })} required />
        </label>
        <label>
          SKU <input value={d.sku} onChange={(e) => updateDraft(d.id, { sku: e.target.value })} required />
        </label>
        <label>
          Category{' '}
          <select value={d.category} onChange={(e) => updateDraft(d.id, { category: e.target.value as GarmentCategory })}>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {CATEGORY_LABEL[c]}
              </option>
            ))}
          </select>
        </label>
        {d.state === 'uploading' && <p>Uploading…</p>}
        {d.error && (
          <p className="error" role="alert">
            {d.error}
          </p>
        )}
      </div>
      <button type="button" className="link" aria-label={`Remove ${d.file.name} from the upload`} onClick={() => removeDraft(d)}>
        Remove
      </button>
    </li>
  );
}

function Dropzone({ addFiles }: Pick<Drafts, 'addFiles'>) {
  const [dragging, setDragging] = useState(false);

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  }

  return (
    <div
      className={`dropzone${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <label htmlFor="garment-files">
        <strong>Drop product images here</strong> or choose files (PNG, JPEG or WebP; several at once)
      </label>
      <input
        id="garment-files"
        type="file"
        multiple
        accept="image/png,image/jpeg,image/webp"
        onChange={(e) => {
          addFiles(e.target.files);
          e.target.value = '';
        }}
      />
    </div>
  );
}

export function GarmentUpload({ drafts, addFiles, updateDraft, removeDraft, uploadAll }: Drafts) {
  return (
    <section aria-labelledby="upload-heading" className="panel">
      <h2 id="upload-heading">Add garments</h2>
      <Dropzone addFiles={addFiles} />
      {drafts.length > 0 && (
        <>
          <ul className="drafts" aria-label="Images to upload">
            {drafts.map((d) => (
              <DraftItem key={d.id} draft={d} updateDraft={updateDraft} removeDraft={removeDraft} />
            ))}
          </ul>
          <button type="button" className="primary" onClick={() => void uploadAll()} disabled={drafts.some((d) => d.state === 'uploading')}>
            Upload {drafts.length} garment{drafts.length === 1 ? '' : 's'}
          </button>
        </>
      )}
    </section>
  );
}
