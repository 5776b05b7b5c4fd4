// The try-on area: the shown render's progress, the original photo beside its preview or result,
// and the download and cancel actions.
import { ErrorNote } from './ErrorNote';
import type { SectionError, Shown } from './shopper-model';

interface TryOnPanelProps {
  shown: Shown;
  running: boolean;
  error: SectionError | null;
  cancel(): void;
}

function ProgressText({ shown }: { shown: Shown }) {
  return (
    <p data-testid="progress-text">
      {shown.status === 'QUEUED' && 'Waiting for the engine…'}
      {shown.status === 'RUNNING' && `Step ${shown.step} of ${shown.totalSteps}`}
      {shown.status === 'SUCCEEDED' && `Done: ${shown.totalSteps} of ${shown.totalSteps} steps`}
      {shown.status === 'FAILED' && `Failed: ${shown.error ?? 'unknown error'}`}
      {shown.status === 'CANCELED' && 'Canceled'}
    </p>
  );
}

function Comparison({ shown }: { shown: Shown }) {
  return (
    <div className="compare">
      <figure>
        <img src={shown.originalUrl} alt="Your original photo" />
        <figcaption>Original</figcaption>
      </figure>
      <figure>
        {shown.resultUrl ? (
          <img src={shown.resultUrl} alt={`Try-on result: ${shown.outfitLabel}`} data-testid="result-image" />
        ) : shown.previewUrl ? (
          <img src={shown.previewUrl} alt={`Preview at step ${shown.step} of ${shown.totalSteps}`} data-testid="preview-image" />
        ) : (
          <div className="placeholder" aria-hidden="true" />
        )}
        <figcaption>{shown.resultUrl ? 'Try-on' : 'Preview'}</figcaption>
      </figure>
    </div>
  );
}

export function TryOnPanel({ shown, running, error, cancel }: TryOnPanelProps) {
  const percent = shown.totalSteps > 0 ? Math.round((100 * shown.step) / shown.totalSteps) : 0;
  return (
    <section id="try-on" aria-labelledby="result-heading" className="panel">
      <h2 id="result-heading">Try-on: {shown.outfitLabel}</h2>
      <div
        className="progress"
        role="progressbar"
        aria-label="Try-on progress"
        aria-valuemin={0}
        aria-valuemax={shown.totalSteps}
        aria-valuenow={shown.step}
        aria-valuetext={`Step ${shown.step} of ${shown.totalSteps}`}
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <ProgressText shown={shown} />
      <Comparison shown={shown} />
      <ErrorNote error={error} section="try-on" />
      <div className="actions">
        {shown.resultUrl && (
          <a className="button primary" href={shown.resultUrl} download={`atelier-try-on-${shown.renderId.slice(-8)}.png`}>
            Download
          </a>
        )}
        {running && (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
    </section>
  );
}
