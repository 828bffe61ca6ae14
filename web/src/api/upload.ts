// The database upload: multipart POST /api/databases through XMLHttpRequest, because fetch()
// reports no upload progress; errors come back as the same ApiError as every other call.
import { ApiError, csrfToken, signalUnauthorized } from './client';
import type { ClientErrorBody } from './client';
import type { Database } from './types';

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
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/databases');
    xhr.setRequestHeader('Accept', 'application/json');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('X-CSRF-Token', token);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress({ stage: 'sending', loaded: e.loaded, total: e.total });
    };
    // Every byte is sent: the server now checks the FASTA and runs makeblastdb.
    xhr.upload.onload = () => onProgress({ stage: 'building' });
    xhr.onerror = () =>
      reject(new ApiError(0, { error_code: 'network_error', message: 'The server could not be reached.', field: null }));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText) as Database);
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
