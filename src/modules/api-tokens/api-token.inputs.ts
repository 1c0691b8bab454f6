import { Field, InputType, ObjectType } from 'type-graphql';
import { ApiToken, Role } from './api-token.entity.js';

/** createApiToken's input. */
@InputType({ description: 'The new API token.' })
export class CreateApiTokenInput {
  @Field(() => Role, { description: 'What the new token may do.' }) role!: Role;
  @Field(() => String, { nullable: true, description: 'A free-text note for people, at most 200 characters; blank means none.' }) label?: string | null;
}

/** The one response that carries a token's secret. */
@ObjectType({ description: 'A newly created API token with its secret.' })
export class CreatedApiToken {
  @Field(() => String, { description: 'The bearer token. Shown once.' }) token!: string;
  @Field(() => ApiToken, { description: 'The stored token, as apiTokens lists it.' }) apiToken!: ApiToken;
}
