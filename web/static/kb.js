// Uploads each chosen file on its own request, with a progress bar fed by the browser's upload events.
"use strict";
(function () {
  const form = document.getElementById("upload");
  const list = document.getElementById("uploads");
  function send(file) {
    const item = document.createElement("li");
    const bar = document.createElement("progress");
    const label = document.createElement("span");
    bar.max = 100; bar.value = 0;
    label.textContent = " " + file.name + ": uploading";
    item.append(bar, label);
    list.append(item);
    const xhr = new XMLHttpRequest();
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
    xhr.onload = () => {
      bar.value = 100;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { error: xhr.statusText }; }
      item.className = xhr.status === 200 ? "done" : "failed";
      label.textContent = xhr.status === 200
        ? " " + file.name + ": ingested, " + body.changed + " entries changed"
        : " " + file.name + ": failed (" + (body.error || xhr.status) + ")";
    };
    xhr.onerror = () => { item.className = "failed"; label.textContent = " " + file.name + ": failed (network)"; };
    xhr.open("POST", "/kb/upload");
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    const data = new FormData();
    data.append("file", file);
    xhr.send(data);
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    for (const file of document.getElementById("files").files) { send(file); }
  });
})();
