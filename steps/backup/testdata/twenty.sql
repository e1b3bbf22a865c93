-- A database shaped like Twenty's: a core schema, workspace_* schemas,
-- enums, indexes, foreign keys, extensions, a few thousand rows.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA core;
CREATE TYPE core.workspace_activation AS ENUM ('PENDING_CREATION', 'ACTIVE', 'INACTIVE');
CREATE TABLE core.workspace (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  display_name text NOT NULL,
  activation core.workspace_activation NOT NULL DEFAULT 'ACTIVE',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE core."user" (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE,
  password_hash text,
  default_workspace_id uuid REFERENCES core.workspace(id) ON DELETE SET NULL
);
CREATE TABLE core.key_value_pair (id serial PRIMARY KEY, key text NOT NULL, value jsonb);
INSERT INTO core.workspace (id, display_name, activation)
  SELECT ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, 'Workspace ' || i, 'ACTIVE' FROM generate_series(1, 2) i;
INSERT INTO core."user" (email, password_hash, default_workspace_id)
  SELECT 'user' || i || '@example.com', crypt('pw' || i, gen_salt('md5')), '00000000-0000-0000-0000-000000000001'
  FROM generate_series(1, 300) i;
INSERT INTO core.key_value_pair (key, value) SELECT 'k' || i, jsonb_build_object('n', i) FROM generate_series(1, 200) i;

CREATE SCHEMA workspace_1wgvd1injqtife6y4rvfbu3h5;
SET search_path = workspace_1wgvd1injqtife6y4rvfbu3h5;
CREATE TYPE company_stage AS ENUM ('LEAD', 'CUSTOMER', 'CHURNED');
CREATE TABLE company (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, stage company_stage NOT NULL,
  employees int, "createdAt" timestamptz NOT NULL DEFAULT '2024-01-01', "deletedAt" timestamptz);
CREATE INDEX company_name_idx ON company (name);
CREATE TABLE person (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "nameFirstName" text, "nameLastName" text,
  emails jsonb, "companyId" uuid REFERENCES company(id) ON DELETE CASCADE, position double precision);
CREATE INDEX person_company_idx ON person ("companyId");
CREATE UNIQUE INDEX person_email_idx ON person ((emails->>'primaryEmail'));
INSERT INTO company (name, stage, employees) SELECT 'Company ' || i, (ARRAY['LEAD','CUSTOMER','CHURNED'])[1 + i % 3]::company_stage, i * 7 FROM generate_series(1, 500) i;
INSERT INTO person ("nameFirstName", "nameLastName", emails, "companyId", position)
  SELECT 'First' || i, 'Last' || i, jsonb_build_object('primaryEmail', 'p' || i || '@acme.test'),
    (SELECT id FROM company ORDER BY name LIMIT 1 OFFSET (i % 500)), i / 3.0
  FROM generate_series(1, 3000) i;

CREATE SCHEMA workspace_9x2kq0abcdefghijklmnop;
SET search_path = workspace_9x2kq0abcdefghijklmnop;
CREATE TABLE company (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE opportunity (id serial PRIMARY KEY, amount numeric(12,2), "companyId" int REFERENCES company(id), note text);
INSERT INTO company (name) SELECT 'C' || i FROM generate_series(1, 100) i;
INSERT INTO opportunity (amount, "companyId", note) SELECT i * 1.5, 1 + i % 100, repeat('x', i % 50) FROM generate_series(1, 1000) i;
RESET search_path;
