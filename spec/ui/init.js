// Starts Swagger UI on the gateway's own document. Everything is served by the gateway
// itself (no CDN, no online validator), so the viewer works offline. Paths are relative to
// /api/v1/ui, so the viewer also works behind a reverse proxy that adds a prefix.
window.ui = SwaggerUIBundle({
  url: "openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
