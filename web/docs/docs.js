// Starts Swagger UI on this server's own OpenAPI document.
//
// This file stands in for Swagger UI's own index.html and swagger-initializer.js, so that /docs
// runs under a policy that allows scripts and styles from this origin only:
// - the base layout, without the standalone preset, whose top bar draws its logo with an inline
//   <style> element and offers a box to load any other document's URL;
// - no validator badge (it would send the document's URL to validator.swagger.io);
// - no configuration from the query string (`?url=` loading someone else's document is how
//   Swagger UI pages have been turned against their origin), and no authorisation kept in
//   localStorage, which on this origin holds the web app's tokens.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  queryConfigEnabled: false,
  persistAuthorization: false,
});
