// The server sends a browser here with its refusal in ?err=; show it as text, never as markup.
const message = new URLSearchParams(window.location.search).get("err");
if (message) {
  document.getElementById("auth-error-message").textContent = message;
}
