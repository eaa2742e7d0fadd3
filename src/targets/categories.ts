// Citizen Lab test-list category codes (citizenlab/test-lists, "v1 category
// codes"). targets.txt and the importer accept exactly these; a line without
// a code gets MISC.

export const CITIZEN_LAB_CATEGORIES: Readonly<Record<string, string>> = Object.freeze({
  ALDR: 'Alcohol & Drugs',
  REL: 'Religion',
  PORN: 'Pornography',
  PROV: 'Provocative Attire',
  POLR: 'Political Criticism',
  HUMR: 'Human Rights Issues',
  ENV: 'Environment',
  MILX: 'Terrorism and Militants',
  HATE: 'Hate Speech',
  NEWS: 'News Media',
  XED: 'Sex Education',
  PUBH: 'Public Health',
  GMB: 'Gambling',
  ANON: 'Anonymization and circumvention tools',
  DATE: 'Online Dating',
  GRP: 'Social Networking',
  LGBT: 'LGBT',
  FILE: 'File-sharing',
  HACK: 'Hacking Tools',
  COMT: 'Communication Tools',
  MMED: 'Media sharing',
  HOST: 'Hosting and Blogging Platforms',
  SRCH: 'Search Engines',
  GAME: 'Gaming',
  CULTR: 'Culture',
  ECON: 'Economics',
  GOVT: 'Government',
  COMM: 'E-commerce',
  CTRL: 'Control content',
  IGO: 'Intergovernmental Organizations',
  MISC: 'Miscellaneous content',
});

export const DEFAULT_CATEGORY = 'MISC';

export function isCategoryCode(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(CITIZEN_LAB_CATEGORIES, code);
}
