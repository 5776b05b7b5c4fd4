// Parts of job ids and blob keys: the engine's jobs and stored blobs are per model, named by
// the model's id made safe for both (lower case, only [a-z0-9_-]).
export const modelKeyPart = (model: string): string => model.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
