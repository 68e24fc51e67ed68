/** The whole stylesheet: small and hand-written, served once as /static/app.css and cached. */
export const STYLESHEET = `
:root{--fg:#1b2430;--muted:#5b6673;--bg:#eef1f5;--card:#fff;--accent:#0b5fcc;--accent-dark:#084a9f;
--danger:#b42318;--ok:#067647;--warn:#b54708;--line:#d5dbe3;--head:#142030;--focus:#f5a524;--radius:10px}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:hover{color:var(--accent-dark)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px;border-radius:3px}
.skip{position:absolute;left:.5rem;top:-3rem;padding:.5rem .75rem;background:#fff;color:var(--fg);z-index:10;border-radius:6px}
.skip:focus{top:.5rem}
header{background:var(--head);color:#e8eef5;padding:.6rem 1.25rem .5rem}
header .bar{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.25rem;max-width:64rem;margin:0 auto}
header a{color:#cfe1ff;text-decoration:none}
header a:hover{color:#fff;text-decoration:underline}
.brand{font-weight:700;color:#fff;letter-spacing:.01em}
nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
nav a[aria-current=page]{color:#fff;text-decoration:underline;text-underline-offset:.3em;text-decoration-thickness:2px}
.account{margin-left:auto;display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center;font-size:.95rem}
.who strong{color:#fff;font-weight:600;overflow-wrap:anywhere}
button.quiet{font:inherit;font-size:.9rem;padding:.2rem .6rem;background:transparent;color:#e8eef5;border:1px solid #5d6f85;border-radius:6px;cursor:pointer}
button.quiet:hover{background:#22344a}
.instance{max-width:64rem;margin:.3rem auto 0;font-size:.8rem;color:#a9b6c4}
.instance code{color:#fff;background:#2a3a4e;padding:.05rem .4rem;border-radius:4px}
main{max-width:34rem;margin:1.5rem auto;padding:1.5rem 1.75rem;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);box-shadow:0 1px 2px rgba(16,24,40,.06)}
main.wide{max-width:64rem}
main:focus{outline:none}
h1{margin:0 0 1rem;font-size:1.6rem;line-height:1.2}
h2{font-size:1.1rem;margin:0 0 .5rem}
h3{font-size:.95rem;margin:1rem 0 .25rem;color:var(--muted)}
form.inline{display:inline}
.field{display:flex;flex-direction:column;margin-bottom:1rem}
label{font-weight:600;margin-bottom:.3rem}
input{font:inherit;padding:.55rem .7rem;border:1px solid #8d99a6;border-radius:6px;background:#fff;color:var(--fg);width:100%}
input:hover{border-color:#5b6673}
input:focus-visible{outline-offset:0;border-color:var(--accent)}
.invalid input{border-color:var(--danger);border-width:2px}
.hint{color:var(--muted);font-size:.9rem;margin-top:.25rem}
.error{color:var(--danger);font-weight:600}
.field .error{margin-top:.3rem;font-size:.95rem}
.field .error::before{content:"⚠ "}
p.error{padding:.6rem .8rem;border-radius:6px;background:#fef3f2;border:1px solid #fecdca}
button,.button{font:inherit;font-weight:600;display:inline-block;padding:.55rem 1.1rem;border:1px solid transparent;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;line-height:1.4}
button:hover,.button:hover{background:var(--accent-dark);color:#fff}
.button.secondary{background:#fff;color:var(--accent);border-color:var(--line)}
.button.secondary:hover{background:#f2f6fc;color:var(--accent-dark)}
button.danger{background:var(--danger)}
button.danger:hover{background:#912018}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;margin:1.25rem 0 0}
.aside{margin:1.25rem 0 0;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted)}
.notice{padding:.6rem .8rem;border-left:4px solid var(--ok);background:#ecfdf3;border-radius:0 6px 6px 0}
.notice.warn{border-color:var(--warn);background:#fffaeb}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.85rem;color:var(--muted);font-weight:600}
tfoot th,tfoot td{font-weight:700;border-bottom:0}
.cart tr.zero td{color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:0 1rem}
.grid .actions,.grid p{grid-column:1/-1}
.muted{color:var(--muted);font-size:.9em}
.scroll{overflow-x:auto}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;background:#eef2f6;color:#364152;white-space:nowrap}
.badge.master{background:#0b5fcc;color:#fff}
.badge.replica{background:#e0ecff;color:#0b4aa2}
.badge.ok{background:#dcfae6;color:#085d3a}
.badge.down{background:#fee4e2;color:#912018}
.badge.info{background:#f0f1f3;color:#364152}
.live{font-size:.9rem;color:var(--muted);margin:-.5rem 0 1rem}
.live::before{content:"";display:inline-block;width:.6rem;height:.6rem;border-radius:50%;background:#98a2b3;margin-right:.45rem;vertical-align:middle}
.live[data-state=live]::before{background:#12b76a}
.live[data-state=lost]::before{background:var(--danger)}
.master-line{font-size:1.15rem;margin:0 0 .75rem}
.master-line strong{color:var(--accent)}
.alarms{margin:0 0 1rem;padding:.6rem .8rem .6rem 2rem;background:#fef3f2;border:1px solid #fecdca;border-radius:6px;color:var(--danger);font-weight:600}
.warnings{margin:0 0 1rem;padding:.6rem .8rem .6rem 2rem;background:#fffaeb;border:1px solid #fedf89;border-radius:6px;color:#93370d}
.missing{margin:0 0 1rem;padding:.6rem .8rem .6rem 2rem;background:#f2f4f7;border:1px solid var(--line);border-radius:6px}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(28rem,1fr));gap:1.25rem}
.panels section{min-width:0}
.timeline{list-style:none;margin:0;padding:0;font-size:.92rem}
.timeline li{padding:.3rem 0;border-bottom:1px dashed var(--line)}
.timeline time{font-variant-numeric:tabular-nums;color:var(--muted);margin-right:.25rem}
.changed{animation:flash 1.5s ease-out}
@keyframes flash{from{background:#fff1b8}to{background:transparent}}
@media (prefers-reduced-motion:reduce){.changed{animation:none}}
@media (max-width:560px){
header{padding:.5rem .9rem}
.account{margin-left:0;width:100%}
main{margin:0;padding:1.1rem 1rem;border-radius:0;border-left:0;border-right:0}
h1{font-size:1.35rem}
.panels{grid-template-columns:1fr}
.actions .button,.actions button{flex:1 1 auto;text-align:center}
}
`;
