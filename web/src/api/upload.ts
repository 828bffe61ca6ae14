// Uploads (a database's FASTA, a BLAST result to import): multipart POSTs through XMLHttpRequest, because fetch()
// reports no upload progress; errors come back as the same ApiError as every other call.
import { ApiError, csrfToken, signalUnauthorized } from './client';
import type { ClientErrorBody } from './client';
import type { Database, Job } from './types';

export interface DatabaseUpload {
  name: string;
  file: File;
  molecule?: 'nucl' | 'prot';
  taxidMap?: File;
  taxid?: string;
}

/** Where an upload is: sending the bytes (loaded/total), then waiting while the server works
 * on it; a database upload's `uploadId` then names its progress (GET /api/databases/uploads/{id}). */
export type UploadStage =
  | { stage: 'sending'; loaded: number; total: number }
  | { stage: 'building'; uploadId?: string };

/** A random UUID (v4) naming an upload. crypto.randomUUID exists only on secure pages (https
 * or localhost), getRandomValues everywhere: a server reached over plain http by name works too. */
export function newUploadId(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // the RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uploadDatabase(
  upload: DatabaseUpload,
  onProgress: (stage: UploadStage) => void,
  signal?: AbortSignal,
): Promise<Database> {
  const form = new FormData();
  form.append('name', upload.name);
  if (upload.molecule) form.append('molecule', upload.molecule);
  if (upload.taxidMap) form.append('taxid_map', upload.taxidMap, upload.taxidMap.name);
  if (upload.taxid) form.append('taxid', upload.taxid);
  form.append('file', upload.file, upload.file.name); // last: the small fields arrive first
  const uploadId = newUploadId();
  return sendForm<Database>('/api/databases', form, onProgress, signal, uploadId);
}

/** Import a BLAST result made elsewhere (XML -outfmt 5 or archive -outfmt 11) as a job
 * (POST /api/jobs/import); the server answers once the whole file is read and indexed. */
export function importResult(
  file: File,
  onProgress: (stage: UploadStage) => void,
  signal?: AbortSignal,
): Promise<Job> {
  const form = new FormData();
  form.append('file', file, file.name);
  return sendForm<Job>('/api/jobs/import', form, onProgress, signal);
}

/** A multipart POST with upload progress; 'building' once every byte is sent. With `uploadId`,
 * sent as X-Upload-Id, the server keeps the progress of its work on the upload under it. */
function sendForm<T>(
  url: string,
  form: FormData,
  onProgress: (stage: UploadStage) => void,
  signal?: AbortSignal,
  uploadId?: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Accept', 'application/json');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('X-CSRF-Token', token);
    if (uploadId) xhr.setRequestHeader('X-Upload-Id', uploadId);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress({ stage: 'sending', loaded: e.loaded, total: e.total });
    };
    // Every byte is sent: the server now works on it (makeblastdb, or reading an import).
    xhr.upload.onload = () => onProgress({ stage: 'building', uploadId });
    xhr.onerror = () =>
      reject(new ApiError(0, { error_code: 'network_error', message: 'The server could not be reached.', field: null }));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText) as T);
        return;
      }
      if (xhr.status === 401) signalUnauthorized();
      reject(new ApiError(xhr.status, errorOf(xhr)));
    };
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}

function errorOf(xhr: XMLHttpRequest): ClientErrorBody {
  try {
    const body = JSON.parse(xhr.responseText) as Partial<ClientErrorBody>;
    if (body && typeof body.error_code === 'string') {
      return { error_code: body.error_code, message: body.message ?? '', field: body.field ?? null, detail: body.detail };
    }
  } catch {
    // Not JSON (a proxy's error page): a generic body below.
  }
  return { error_code: `http_${xhr.status}`, message: xhr.statusText || `HTTP ${xhr.status}`, field: null };
}
