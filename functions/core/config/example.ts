/** The built-in config used when no switchyard.yaml exists: offline, mock provider only. */
export const EXAMPLE_CONFIG_YAML = `# Switchyard example config: offline, answered by the built-in mock provider.
providers:
  mock:
    type: mock
routes:
  gpt-4o-mini:
    targets:
      - { provider: mock, model: mock-echo }
  text-embedding-3-small:
    targets:
      - { provider: mock, model: mock-embed }
prices:
  mock/mock-echo: { input: 0, output: 0 }
`;
