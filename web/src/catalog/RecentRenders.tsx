// "Recent renders": the store's latest renders with the time each phase took.
import { formatMs, formatTime } from '../common/labels';
import type { RecentRender } from './catalog-model';

/** The timing columns: label, what it measures, and the field of Render.timings. */
const PHASES = [
  ['Queue', 'From the request to a worker taking it', 'queueMs'],
  ['Load', 'Reading the inputs (rows, blobs) and loading them into the engine', 'loadMs'],
  ['Reference', 'Reference caches computed during the render (0 when every cache was ready)', 'referenceMs'],
  ['Denoise', 'The denoising steps', 'denoiseMs'],
  ['Decode', 'Decoding the final latent (VAE)', 'decodeMs'],
  ['Finish', 'Compositing into the photo, PNG encoding, storing the result', 'finishMs'],
  ['Total', 'From a worker taking the render to its result stored', 'totalMs'],
] as const;

function RenderRow({ render: r }: { render: RecentRender }) {
  return (
    <tr>
      <td>
        <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
      </td>
      <td>
        <span className={`badge ${r.status.toLowerCase()}`}>{r.status}</span>
        {r.status === 'RUNNING' && (
          <span className="muted">
            {' '}
            {r.completedSteps}/{r.steps}
          </span>
        )}
        {r.error && <span className="muted"> {r.error.code}</span>}
      </td>
      <td>{r.outfit.garments.map((g) => g.name).join(', ')}</td>
      {PHASES.map(([label, , field]) => (
        <td key={label}>{formatMs(r.timings?.[field])}</td>
      ))}
    </tr>
  );
}

function RenderTable({ renders }: { renders: RecentRender[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Requested</th>
            <th scope="col">Status</th>
            <th scope="col">Garments</th>
            {PHASES.map(([label, title]) => (
              <th key={label} scope="col" title={title}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {renders.map((r) => (
            <RenderRow key={r.id} render={r} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RecentRenders({ renders, rendersForbidden }: { renders: RecentRender[]; rendersForbidden: boolean }) {
  return (
    <section aria-labelledby="renders-heading" className="panel">
      <h2 id="renders-heading">Recent renders</h2>
      {rendersForbidden ? (
        <p>This key cannot read renders: give it the RENDERS_READ scope to see them here.</p>
      ) : renders.length === 0 ? (
        <p>No renders yet.</p>
      ) : (
        <RenderTable renders={renders} />
      )}
    </section>
  );
}
