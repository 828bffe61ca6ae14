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

/** Where an upload is: sending the bytes (loaded/total), then waiting while makeblastdb builds. */
export type UploadStage = { stage: 'sending'; loaded: number; total: number } | { stage: 'building' };

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
  return sendForm<Database>('/api/databases', form, onProgress, signal);
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

/** A multipart POST with upload progress; 'building' once every byte is sent. */
function sendForm<T>(
  url: string,
  form: FormData,
  onProgress: (stage: UploadStage) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Accept', 'application/json');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('X-CSRF-Token', token);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress({ stage: 'sending', loaded: e.loaded, total: e.total });
    };
    // Every byte is sent: the server now works on it (makeblastdb, or reading an import).
    xhr.upload.onload = () => onProgress({ stage: 'building' });
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
