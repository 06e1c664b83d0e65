import { ApiError } from '../../lib/api';

/**
 * Sends one file as multipart to a knowledge base with XMLHttpRequest, whose upload events give the
 * progress fetch cannot. Resolves with the ingest result; rejects with the server's error.
 */
export function uploadDocument(
  kbId: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<{ status: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/knowledge-bases/${kbId}/documents`);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body = xhr.response as {
        status: string;
        error?: { code: string; message: string };
        request_id?: string;
      } | null;
      if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
      else
        reject(
          new ApiError(
            xhr.status,
            body?.error?.code ?? 'http_error',
            body?.error?.message ?? `upload failed (${xhr.status})`,
            body?.request_id ?? xhr.getResponseHeader('x-request-id') ?? undefined,
          ),
        );
    };
    xhr.onerror = () => reject(new Error('the upload could not reach the server'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
