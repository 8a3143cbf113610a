"""Texts that try to smuggle markup or script into a page: PAYLOADS, plain HTML and
template syntax (for names and bodies alike), and MARKDOWN_XSS, bodies that try it
through the formatting (issue 22). Each must come out as inert text or inert HTML, in
the service's rendering and in every page that shows it. CORPUS is both."""

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "<iframe src=javascript:alert(1)></iframe>",
    "{{7*7}} ${alert(1)} <b onmouseover=alert(1)>bold</b>",
]

MARKDOWN_XSS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '"><svg onload=alert(1)>',
    "[a](data:text/html,<script>alert(1)</script>)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "![i](https://evil.test/x.png)",
    "![i](data:image/png;base64,iVBORw0KGgo=)",
    "```\n<script>alert(1)</script>\n```",
    "```html onload=alert(1)\n<img src=x onerror=alert(1)>\n```",
    "`<img src=x onerror=alert(1)>`",
    "`</code><script>alert(1)</script>`",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=https://evil.test onclick=alert(1)>x</a>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "javascript&colon;alert(1)",
    "<<script>script>alert(1)<</script>/script>",
    "<!-- x --><style>*{}</style><iframe src=javascript:alert(1)></iframe>",
    "***<b onmouseover=alert(1)>x</b>***",
    "**_~~`<i onclick=alert(1)>`~~_**",
    "> <script>alert(1)</script>\n- <img src=x onerror=alert(1)>",
    'https://a.kr/"onmouseover="alert(1)',
    "https://a.kr/<script>alert(1)</script>",
    'https://a.kr/경로"onclick=alert(1)',
    "mailto:x@a.kr?subject=<script>alert(1)</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]

CORPUS = PAYLOADS + MARKDOWN_XSS
