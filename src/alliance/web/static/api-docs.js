// Starts Swagger UI on the API docs page (/api/v1/docs) from this file, not an inline
// script, so the page keeps the site's Content-Security-Policy.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
