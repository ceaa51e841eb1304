// `POST /api/upload` as multipart (field `file`) over XMLHttpRequest, for upload progress events.

import { NetworkError, parseError, type UploadResult } from '../api';
import type { UploadCallbacks, UploadHandle, Uploader } from './uploader';

export class XhrUploader implements Uploader {
  constructor(private readonly endpoint = '/api/upload') {}

  start(file: File, cb: UploadCallbacks): UploadHandle {
    const xhr = new XMLHttpRequest();
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };

    xhr.open('POST', this.endpoint);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');

    xhr.upload.onprogress = (e) => {
      if (!settled) cb.onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        let result: UploadResult;
        try {
          result = JSON.parse(xhr.responseText) as UploadResult;
        } catch {
          settle(() => cb.onError(new Error('The server accepted the upload but its answer could not be read.')));
          return;
        }
        settle(() => cb.onSuccess(result));
      } else {
        settle(() => cb.onError(parseError(xhr.status, xhr.responseText)));
      }
    };
    xhr.onerror = () => settle(() => cb.onError(new NetworkError('The upload was interrupted. Check your connection and try again.')));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => settle(() => cb.onAbort?.());

    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);

    return {
      async abort() {
        if (settled) return true;
        xhr.abort();
        // Some engines do not fire `abort` for a request that never started: settle here too.
        settle(() => cb.onAbort?.());
        // The server deletes a body that ends before it is complete.
        return true;
      },
    };
  }
}
