import type { MikroORM } from '@mikro-orm/sqlite';
import { badInput } from '../../lib/app-error.js';
import { Role } from '../api-tokens/api-token.entity.js';
import type { ApiTokenService } from '../api-tokens/api-token.service.js';
import { Organization } from './organization.entity.js';

/** Creates organizations (from the CLI) and reads them. */
export class OrganizationService {
  constructor(
    private readonly orm: MikroORM,
    private readonly apiTokens: ApiTokenService,
  ) {}

  /** A new organization and its first ADMIN token, in one transaction so neither exists alone. */
  async create(name: string): Promise<{ organization: Organization; token: string }> {
    const trimmed = typeof name === 'string' ? name.trim() : '';
    if (trimmed.length === 0) throw badInput('name', 'name must not be empty');
    if (trimmed.length > 200) throw badInput('name', 'name must be at most 200 characters');
    return this.orm.em.fork().transactional(async (em) => {
      const organization = em.create(Organization, { name: trimmed });
      await em.flush();
      const { token } = await this.apiTokens.createInTransaction(em, organization.id, Role.ADMIN, 'initial admin token');
      return { organization, token };
    });
  }

  /** For the CLI's `token create`, which names its organization by id. */
  async createToken(organizationId: string, role: Role, label: string | null): Promise<{ token: string; tokenId: string }> {
    return this.orm.em.fork().transactional(async (em) => {
      const organization = await em.findOne(Organization, { id: organizationId });
      if (!organization) throw badInput('org', `no organization ${organizationId}`);
      const created = await this.apiTokens.createInTransaction(em, organizationId, role, label);
      return { token: created.token, tokenId: created.apiToken.id };
    });
  }

  /** One organization, or null. */
  async get(id: string): Promise<Organization | null> {
    return this.orm.em.fork().findOne(Organization, { id });
  }
}
