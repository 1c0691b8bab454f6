import { Field, InputType, ObjectType } from 'type-graphql';

/** Basic credentials, sent as Authorization: Basic base64(username:password). */
@InputType({ description: 'Basic credentials for the receiver.' })
export class BasicCredentialsInput {
  @Field(() => String, { description: 'The user name.' }) username!: string;
  @Field(() => String, { description: 'The password; stored encrypted and never returned.' }) password!: string;
}

/** Exactly one of basic or header. */
@InputType({ description: 'Exactly one of basic or header.' })
export class AuthorizationInput {
  @Field(() => BasicCredentialsInput, { nullable: true, description: 'Sent as Authorization: Basic base64(username:password).' })
  basic?: BasicCredentialsInput | null;

  @Field(() => String, { nullable: true, description: 'A complete Authorization header value, e.g. "Basic dXNlcjpwYXNz" or "Bearer abc".' })
  header?: string | null;
}

/** registerWebhook's input. */
@InputType({ description: 'The webhook to register.' })
export class RegisterWebhookInput {
  @Field(() => String, { description: 'The URL to POST deliveries to; https:// unless the server allows plain http://.' }) url!: string;
  @Field(() => AuthorizationInput, { nullable: true, description: 'Credentials sent with every delivery; omit for none.' }) authorization?: AuthorizationInput | null;
}

/** updateWebhook's input: only what is given changes. */
@InputType({ description: 'Changes to the webhook; only what is given changes, and any update turns a DISABLED webhook back on.' })
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true, description: 'A new URL to POST deliveries to; omit to keep the current one.' }) url?: string | null;
  @Field(() => AuthorizationInput, { nullable: true, description: 'New credentials that replace the current ones; omit to keep them.' }) authorization?: AuthorizationInput | null;
  @Field(() => Boolean, { nullable: true, description: 'True to stop sending credentials; cannot be combined with authorization.' }) removeAuthorization?: boolean | null;
}

/** What the API shows of the receiver's credentials: never the secret part. */
@ObjectType({ description: 'How requests authenticate to the receiver, without the secret part.' })
export class WebhookAuthorization {
  @Field(() => String, { description: 'The scheme of the Authorization header, e.g. Basic or Bearer.' }) scheme!: string;
  @Field(() => String, { nullable: true, description: 'The user name, for Basic credentials.' }) username!: string | null;
}
