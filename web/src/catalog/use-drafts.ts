// The images waiting to become garments: added from files, edited, removed, then uploaded one by one.
import { useRef, useState } from 'react';
import { describeUserErrors, readAsDataUrl, type ApiClient } from '../api/client';
import { createGarment } from '../api/operations';
import { draftOf, errorText, type Draft, type Feedback, type Garment } from './catalog-model';

export interface Drafts {
  drafts: Draft[];
  addFiles(files: FileList | null): void;
  updateDraft(id: number, change: Partial<Draft>): void;
  removeDraft(draft: Draft): void;
  uploadAll(): Promise<void>;
}

export function useDrafts(api: ApiClient, { setNotice, setError }: Feedback, addGarment: (garment: Garment) => void): Drafts {
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const nextDraftId = useRef(1);

  function addFiles(files: FileList | null) {
    if (!files) return;
    const images = [...files].filter((f) => /^image\/(png|jpeg|webp)$/.test(f.type));
    if (images.length < files.length) setError('Only PNG, JPEG and WebP images can become garments; other files were left out.');
    else setError(null);
    setDrafts((list) => [...list, ...images.map((file) => draftOf(file, nextDraftId.current++))]);
    if (images.length > 0)
      setNotice(`${images.length} image${images.length === 1 ? '' : 's'} ready to upload: check the names and categories.`);
  }

  function updateDraft(id: number, change: Partial<Draft>) {
    setDrafts((list) => list.map((d) => (d.id === id ? { ...d, ...change } : d)));
  }

  function removeDraft(draft: Draft) {
    URL.revokeObjectURL(draft.previewUrl);
    setDrafts((list) => list.filter((d) => d.id !== draft.id));
  }

  /** Uploads a draft: true when its garment was created, else the draft shows why not. */
  async function upload(draft: Draft): Promise<boolean> {
    updateDraft(draft.id, { state: 'uploading', error: null });
    try {
      const data = await api.request(createGarment, {
        input: { sku: draft.sku, name: draft.name, category: draft.category, image: { dataUrl: await readAsDataUrl(draft.file) } },
      });
      const garment = data.createGarment.garment;
      if (garment) {
        addGarment(garment);
        removeDraft(draft);
        return true;
      }
      updateDraft(draft.id, { state: 'failed', error: describeUserErrors(data.createGarment.userErrors) });
    } catch (e) {
      updateDraft(draft.id, { state: 'failed', error: errorText(e) });
    }
    return false;
  }

  async function uploadAll() {
    setError(null);
    const pending = drafts.filter((d) => d.state !== 'uploading');
    let created = 0;
    // One at a time: garments are small, and the server computes their caches in order anyway.
    for (const draft of pending) if (await upload(draft)) created += 1;
    setNotice(`${created} garment${created === 1 ? '' : 's'} uploaded; their reference caches are being computed.`);
  }

  return { drafts, addFiles, updateDraft, removeDraft, uploadAll };
}
