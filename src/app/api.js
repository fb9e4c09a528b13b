// The back-office API, as the app uses it: JSON requests with the bearer
// token, an upload with its progress, and the status events of a project.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async json(method, path, body) {
    const init = { method, headers: this.headers() };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(path, init);
    const js = await res.json().catch(() => ({}));
    if (!res.ok) throw new ApiError(res.status, js.error || `HTTP ${res.status}`);
    return js;
  }

  // POSTs a multipart form; onProgress(sent, total) as the bytes go.
  upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Authorization', `Bearer ${this.token}`);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = () => {
        const js = xhr.response || {};
        if (xhr.status >= 200 && xhr.status < 300) resolve(js);
        else reject(new ApiError(xhr.status, js.error || `HTTP ${xhr.status}`));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network error'));
      xhr.send(form);
    });
  }

  // Calls onStatus(status) for each event of /api/ar/events/:id until the
  // project is ready or failed (or signal aborts); returns the last status.
  // (EventSource cannot send a token: the stream is read through fetch.)
  async events(id, onStatus, signal) {
    const res = await fetch(`/api/ar/events/${encodeURIComponent(id)}`, { headers: this.headers(), signal });
    if (!res.ok) {
      const js = await res.json().catch(() => ({}));
      throw new ApiError(res.status, js.error || `HTTP ${res.status}`);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '', last = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
        if (!data) continue;
        last = JSON.parse(data);
        onStatus(last);
        if (last.status === 'ready' || last.status === 'error') {
          reader.cancel().catch(() => {});
          return last;
        }
      }
    }
    return last;
  }
}
