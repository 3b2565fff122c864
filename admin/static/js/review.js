// Review page enhancement: "Comment on this field" fills the comment form in place instead of
// reloading the page. Without JavaScript the link reloads with ?field=... (same result).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.comment-on-field");
  if (!link) return;
  const form = document.getElementById("comment-form");
  const select = form && form.querySelector("select[name=field]");
  if (!select) return;
  event.preventDefault();
  select.value = link.dataset.field;
  const body = form.querySelector("textarea[name=body]");
  form.scrollIntoView({ block: "center" });
  if (body) body.focus();
});
