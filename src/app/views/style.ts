/** The whole stylesheet: small enough to ship inline in the bundle, served once and cached. */
export const STYLESHEET = `
:root{--fg:#1d2329;--muted:#5c6670;--bg:#f6f7f9;--card:#fff;--accent:#0b62d6;--danger:#b42318;--ok:#067647;--line:#d9dee4}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.75rem 1.25rem;background:#16202b;color:#e9eef3}
header a{color:#cfe1ff}
.brand{font-weight:700;color:#fff;text-decoration:none;margin-right:.5rem}
nav{display:flex;gap:1rem;flex-wrap:wrap}
.account{margin-left:auto;display:flex;gap:.75rem;align-items:center}
.instance{font-size:.85rem;color:#aeb9c4}
.instance code{color:#fff;background:#2b3846;padding:.1rem .35rem;border-radius:4px}
main{max-width:40rem;margin:1.5rem auto;padding:1.25rem 1.5rem;background:var(--card);border:1px solid var(--line);border-radius:10px}
h1{margin-top:0;font-size:1.5rem}
.field{display:flex;flex-direction:column;margin-bottom:1rem}
label{font-weight:600;margin-bottom:.25rem}
input{font:inherit;padding:.5rem .6rem;border:1px solid #9aa5b1;border-radius:6px;max-width:100%}
input[aria-invalid=true]{border-color:var(--danger)}
button,.button{font:inherit;display:inline-block;padding:.5rem 1rem;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
button.danger{background:var(--danger)}
button.link{background:none;color:#cfe1ff;padding:0;text-decoration:underline}
form.inline{display:inline}
:focus-visible{outline:3px solid #f5a524;outline-offset:2px}
.error{color:var(--danger);font-weight:600}
.notice{padding:.5rem .75rem;border-left:4px solid var(--ok);background:#ecfdf3}
.notice.warn{border-color:#b54708;background:#fffaeb}
.hint{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line)}
.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0 1rem}
.grid button,.grid p{grid-column:1/-1;justify-self:start}
@media (max-width:480px){main{margin:0;border-radius:0;border-left:0;border-right:0}.account{margin-left:0}}
`;
