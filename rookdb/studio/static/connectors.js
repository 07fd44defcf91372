// The AI connectors the connection-string form offers: their fields in the Studio's order, which
// model types they serve, and the exact JSON the official client sends (every provider key
// present, all but one null, "Type": "Ai").

export const MODEL_TYPES = [
  { value: 'TextEmbeddings', label: 'Text embeddings' },
  { value: 'Chat', label: 'Chat' },
];

const EMBEDDINGS = 'TextEmbeddings';
const CHAT = 'Chat';

const apiKey = { name: 'ApiKey', label: 'API key', secret: true, required: true };
const model = (placeholders, hint) => ({ name: 'Model', label: 'Model', required: true, locked: true,
  placeholder: placeholders, hint });
const dimensions = { name: 'Dimensions', label: 'Dimensions', kind: 'int', only: EMBEDDINGS, locked: true,
  hint: 'Output size, for models that support it (e.g. text-embedding-3). Empty: the model default.' };
const temperature = { name: 'Temperature', label: 'Temperature', kind: 'float', only: CHAT,
  hint: 'Usually 0–2. Empty: the provider default.' };
const aiVersion = { name: 'AiVersion', label: 'AI version', kind: 'choice',
  choices: [['', 'Default (v1beta)'], ['V1', 'v1'], ['V1_Beta', 'v1beta']] };

// `wire` is the key order of the client's to_json for each settings object.
export const CONNECTORS = [
  {
    key: 'OpenAiSettings', label: 'OpenAI', chat: true,
    wire: ['ApiKey', 'Endpoint', 'Model', 'Dimensions', 'Temperature', 'OrganizationId', 'ProjectId'],
    fields: [
      apiKey,
      { name: 'Endpoint', label: 'Endpoint', required: true, placeholder: 'https://api.openai.com/v1',
        hint: 'OpenAI, or the base URL of any OpenAI-compatible service.' },
      model({ TextEmbeddings: 'text-embedding-3-small', Chat: 'gpt-4o' }),
      { name: 'OrganizationId', label: 'Organization ID' },
      { name: 'ProjectId', label: 'Project ID' },
      dimensions, temperature,
    ],
  },
  {
    key: 'AzureOpenAiSettings', label: 'Azure OpenAI', chat: true,
    wire: ['ApiKey', 'Endpoint', 'Model', 'Dimensions', 'Temperature', 'DeploymentName'],
    fields: [
      apiKey,
      { name: 'Endpoint', label: 'Endpoint', required: true, placeholder: 'https://your-resource-name.openai.azure.com' },
      model({ TextEmbeddings: 'text-embedding-3-small', Chat: 'gpt-4o' }),
      { name: 'DeploymentName', label: 'Deployment name', required: true, locked: true },
      dimensions, temperature,
    ],
  },
  {
    key: 'GoogleSettings', label: 'Google AI', chat: true,
    wire: ['Model', 'ApiKey', 'AiVersion', 'Dimensions'],
    fields: [apiKey, model({ TextEmbeddings: 'text-embedding-004', Chat: 'gemini-2.0-flash' }), aiVersion, dimensions],
  },
  {
    key: 'VertexSettings', label: 'Vertex AI', chat: false,
    wire: ['Model', 'GoogleCredentialsJson', 'AiVersion', 'Location'],
    fields: [
      model({ TextEmbeddings: 'text-embedding-005' }),
      { name: 'GoogleCredentialsJson', label: 'Google credentials (JSON)', kind: 'secret-json', required: true,
        hint: 'The service-account key file, pasted whole.' },
      { name: 'Location', label: 'Location', required: true, placeholder: 'us-central1' },
      aiVersion,
    ],
  },
  {
    key: 'MistralAiSettings', label: 'Mistral AI', chat: false,
    wire: ['ApiKey', 'Model', 'Endpoint'],
    fields: [apiKey, { name: 'Endpoint', label: 'Endpoint', required: true, placeholder: 'https://api.mistral.ai/v1' },
      model({ TextEmbeddings: 'mistral-embed' })],
  },
  {
    key: 'HuggingFaceSettings', label: 'Hugging Face', chat: false,
    wire: ['ApiKey', 'Model', 'Endpoint'],
    fields: [
      apiKey,
      { name: 'Endpoint', label: 'Endpoint', optional: true, placeholder: 'https://api-inference.huggingface.co/',
        hint: 'Empty: the default endpoint, https://api-inference.huggingface.co/' },
      model({ TextEmbeddings: 'sentence-transformers/all-MiniLM-L6-v2' }),
    ],
  },
  {
    key: 'OllamaSettings', label: 'Ollama', chat: true,
    wire: ['Uri', 'Model', 'Think', 'Temperature'],
    fields: [
      { name: 'Uri', label: 'URI', required: true, placeholder: 'http://localhost:11434' },
      model({ TextEmbeddings: 'mxbai-embed-large', Chat: 'llama3:8b-instruct' }),
      { name: 'Think', label: 'Thinking mode', kind: 'tristate', only: CHAT, defaultLabel: 'Default (model)',
        trueLabel: 'Enabled', falseLabel: 'Disabled' },
      temperature,
    ],
  },
  {
    key: 'EmbeddedSettings', label: 'Embedded (bge-micro-v2)', chat: false, testable: false, wire: [], fields: [],
    note: 'Runs the bge-micro-v2 model inside rookdb: nothing to configure, no data leaves the server. '
      + 'It uses the server\'s CPU.',
  },
];

export const SETTINGS_KEYS = ['OpenAiSettings', 'AzureOpenAiSettings', 'OllamaSettings', 'EmbeddedSettings',
  'GoogleSettings', 'HuggingFaceSettings', 'MistralAiSettings', 'VertexSettings'];

export function connectorByKey(key) {
  return CONNECTORS.find((connector) => connector.key === key) ?? null;
}

export function connectorsFor(modelType) {
  return CONNECTORS.filter((connector) => modelType !== CHAT || connector.chat);
}

export function fieldsFor(connector, modelType) {
  return connector.fields.filter((spec) => !spec.only || spec.only === modelType);
}

// The settings key that is set in a stored connection string.
export function connectorOf(connectionString) {
  return connectorByKey(SETTINGS_KEYS.find((key) => connectionString?.[key]) ?? '');
}

// values: {fieldName: parsed value or null}; batches: EmbeddingsMaxConcurrentBatches or null.
export function connectionStringJson({ name, identifier, modelType, connector, values, batches }) {
  const settings = {};
  for (const key of connector.wire) settings[key] = values[key] ?? null;
  if (modelType === CHAT) {
    for (const spec of fieldsFor(connector, CHAT)) {
      if (!connector.wire.includes(spec.name)) settings[spec.name] = values[spec.name] ?? null;
    }
  }
  settings.EmbeddingsMaxConcurrentBatches = batches ?? null;
  const body = { Name: name, Identifier: identifier };
  for (const key of SETTINGS_KEYS) body[key] = key === connector.key ? settings : null;
  body.ModelType = modelType;
  body.Type = 'Ai';
  return body;
}
