# Runs the emulator exactly as the README's run command does, listening on all interfaces.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN KOOGALLERY_INSTALL_ONLY=1 scripts/serve
ENV KOOGALLERY_DATABASE=/data/koogallery-sandbox.db
VOLUME ["/data"]
EXPOSE 8080
CMD ["scripts/serve", "--host", "0.0.0.0", "--port", "8080"]
