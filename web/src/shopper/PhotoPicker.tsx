// Section 1: choose one of the shopper's photos, or upload a new one (which is then chosen).
import { useState } from 'react';
import { describeUserErrors, readAsDataUrl, type ApiClient } from '../api/client';
import { uploadPersonPhoto } from '../api/operations';
import { ErrorNote } from './ErrorNote';
import { errorText, type Feedback, type Photo, type SectionError } from './shopper-model';

interface PhotoPickerProps extends Feedback {
  api: ApiClient;
  loaded: boolean;
  photos: Photo[];
  photoId: string | null;
  choosePhoto(id: string): void;
  addPhoto(photo: Photo): void;
  error: SectionError | null;
}

export function PhotoPicker({ api, loaded, photos, photoId, choosePhoto, addPhoto, error, setError, setNotice }: PhotoPickerProps) {
  const [uploading, setUploading] = useState(false);

  async function onPhotoFile(file: File | undefined) {
    if (!file) return;
    setError(null);
    setUploading(true);
    try {
      const data = await api.request(uploadPersonPhoto, { dataUrl: await readAsDataUrl(file) });
      const uploaded = data.uploadPersonPhoto.personPhoto;
      if (!uploaded) {
        setError({ section: 'photo', text: describeUserErrors(data.uploadPersonPhoto.userErrors) });
        return;
      }
      addPhoto(uploaded);
      setNotice('Your photo was uploaded and chosen.');
    } catch (e) {
      setError({ section: 'photo', text: errorText(e) });
    } finally {
      setUploading(false);
    }
  }

  return (
    <section aria-labelledby="photo-heading" className="panel">
      <h2 id="photo-heading">1. Your photo</h2>
      <div className="photo-grid" role="group" aria-label="Person photos">
        {photos.map((p, i) => (
          <button key={p.id} type="button" className="tile" aria-pressed={p.id === photoId} onClick={() => choosePhoto(p.id)}>
            <img src={p.image.url} alt={`Person photo ${i + 1}`} width={p.image.width} height={p.image.height} />
          </button>
        ))}
        <label className="tile upload-tile">
          <span>{uploading ? 'Uploading…' : 'Upload a photo'}</span>
          <input
            type="file"
            accept="image/png,image/jpeg,image/webp"
            disabled={uploading}
            onChange={(e) => void onPhotoFile(e.target.files?.[0])}
          />
        </label>
      </div>
      {loaded && photos.length === 0 && <p>Upload a photo of yourself, standing, to start.</p>}
      <ErrorNote error={error} section="photo" />
    </section>
  );
}
